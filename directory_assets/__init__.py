"""The national recovery-services directory: sources, organizations, views, search."""
