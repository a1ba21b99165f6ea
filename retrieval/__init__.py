"""Question -> ranked, explained evidence -> cited answer."""
