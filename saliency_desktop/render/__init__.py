"""Rendering shared by the app and the command line: numpy, matplotlib and Pillow; no Qt, no TF."""
