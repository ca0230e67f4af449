"""Secrets Manager rotation for the PCI stack's secrets: the MySQL master password
(`mysql.py`) and the Redis AUTH token (`redis_auth.py`). One function serves both;
`handler.lambda_handler` checks the rotation contract and picks the rotator."""
