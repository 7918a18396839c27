"""Real servers, real clients and a generated PKI for mod_arrcert's integration tests."""
