"""Running untrusted code: a bubblewrap sandbox around a pre-imported Python that forks per job."""
