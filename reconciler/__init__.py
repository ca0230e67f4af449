"""GitOps reconciler for AWS CloudFormation stacks."""

__version__ = "0.1.0"

# Tags the reconciler puts on every stack it manages.
MANAGED_TAG = "gitops-reconciler:managed"
HASH_TAG = "gitops-reconciler:desired-hash"
