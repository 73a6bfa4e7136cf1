"""casework: the support agency's side. State folded from referral events; a staff API."""
