"""CPC Desktop: encrypted records, standard forms and sync for residential shelters."""

__version__ = "0.1.0"
