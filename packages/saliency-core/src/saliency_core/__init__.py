"""saliency_core: under construction; see the project's issues for its status."""
