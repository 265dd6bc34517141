"""Result store: run folders, tables, summaries, comparisons and plots."""
