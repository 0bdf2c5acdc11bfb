"""The agencies' daily referral extracts: what goes in them, how they are written and delivered."""
