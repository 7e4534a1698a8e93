"""Rules and facts every layer may import: pure functions and constants, no I/O."""
