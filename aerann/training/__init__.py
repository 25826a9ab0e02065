"""Training: the one loop (:mod:`~aerann.training.engine`), its batch sources, optimizers, schedules and
checked settings, and the run folders of ``aerann train`` (:mod:`~aerann.training.run`)."""
