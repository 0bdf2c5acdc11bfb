"""Aiguillage: daily referral pipeline for RSA beneficiaries (Seine-Saint-Denis)."""
