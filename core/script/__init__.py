"""Bitcoin Script: opcodes, parsing, the interpreter, signature hashing, standard script templates."""
