"""The version of gradviz: read by setup.cfg and by the visualizer (which never imports the top
package)."""

__version__ = "0.1.0"
