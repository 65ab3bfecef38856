"""ssl_vqa: under construction; see the project's issues for its status."""
