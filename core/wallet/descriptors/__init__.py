"""Output script descriptors (BIP380-386, plus the tapscript fragments Peerwallet uses)."""
