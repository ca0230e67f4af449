"""The only package that talks to AWS (boto3). Everything else in reconciler/ is pure."""
