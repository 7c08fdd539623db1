"""The Qt-free core: forms, vault, crypto, users and audit."""
