"""The account-risk page: static files served by the service itself, and the account view's data."""
