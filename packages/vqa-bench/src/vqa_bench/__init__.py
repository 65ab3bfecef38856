"""vqa_bench: the `bench` runner (see issue "vqa-bench" for its status)."""
