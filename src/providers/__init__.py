"""Payment providers behind one interface; the core never imports a provider's SDK."""
