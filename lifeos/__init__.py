"""Life-OS Workbench core: settings, entity kinds, errors and the library store."""

__version__ = "0.1.0"
