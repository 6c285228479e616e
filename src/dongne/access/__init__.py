"""Who can reach what: spatial accessibility on street networks or straight lines."""
