"""``python -m gradviz``: the command line."""

from gradviz.cli import main

if __name__ == "__main__":
    main()
