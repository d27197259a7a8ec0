"""Runs first in the frozen app: programs chatdesk starts get the system's libraries, not the bundle's.

On Linux the bootloader puts the bundle on LD_LIBRARY_PATH (keeping the old value in LD_LIBRARY_PATH_ORIG);
a browser window or xdg-open started with it could load the bundle's copies of system libraries.
"""

import os
import sys

if sys.platform.startswith("linux"):
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)
