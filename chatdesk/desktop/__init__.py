"""The app as a desktop program: launcher, window, guard, instance, loading page and logs."""
