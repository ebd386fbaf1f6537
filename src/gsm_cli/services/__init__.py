"""Domain logic. Services never print and never exit: they return values or raise GsmError."""
