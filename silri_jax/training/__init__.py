"""The training core under every entry point: building from the one config schema
(``build``), the batch source over ``D_R`` and ``D_I`` (``batches``), the trainer object
(``trainer``), the policy file and acting glue (``policy``) and logging (``logger``)."""
