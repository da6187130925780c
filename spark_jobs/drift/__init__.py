"""Step 3: detect schema drift once (new, missing and mistyped fields)."""
