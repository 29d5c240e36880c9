"""The as-built report of a site: one self-contained HTML file."""
