"""The commands of the ``gradviz`` command line (:mod:`gradviz.cli` is the group) and what
they share (:mod:`gradviz.commands.common`)."""
