"""Session: reading ZIPs (ours and devduck's) within hostile-input limits."""
