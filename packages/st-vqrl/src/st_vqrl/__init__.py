"""st_vqrl: under construction; see the project's issues for its status."""
