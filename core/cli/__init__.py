"""`peerwallet-cli`: the headless command line."""
