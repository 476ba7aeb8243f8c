"""Settings split per environment: base (shared), dev (embedded default), test, prod."""
