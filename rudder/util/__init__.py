"""Small leaf helpers shared by every layer (no Rudder imports)."""
