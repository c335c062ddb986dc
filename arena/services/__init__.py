"""Services: keyword-only functions that own their transactions. Views and the CLI call these."""
