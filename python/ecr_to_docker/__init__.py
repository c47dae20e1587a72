"""Promote container images from Amazon ECR to Docker Hub, never overwriting a tag."""

__version__ = "0.1.0"
