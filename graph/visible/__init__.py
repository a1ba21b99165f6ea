"""A restricted view of a knowledge store: what one viewer may see, computed from visible rows only."""
