"""Catalog tooling for developers and translators (`cpc i18n`): extraction, merging, checks
and compilation. The running program never imports it; core/i18n.py only reads catalogs."""
