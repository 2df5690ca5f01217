mod pass;
