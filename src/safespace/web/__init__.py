"""Browser-side assets: the on-device hashing library served by the web pages (static/js)."""
