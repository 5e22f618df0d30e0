"""The Trade page's parts: the runtime behind the context (no Qt), the Qt bridge, tables and dialogs."""
