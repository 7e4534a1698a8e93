"""Business logic. Services never import routers."""
