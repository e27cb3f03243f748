"""The trainer's page and animation: live runs, narration, levers, side by side."""
