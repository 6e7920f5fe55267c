"""SafeSpace: detect, deter, report and remove child sexual abuse material on any platform.

Import from the owning module: ``safespace.signals``, ``safespace.index``, ``safespace.banks``.
"""

__version__ = "0.1.0"
