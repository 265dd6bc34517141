"""The interactive dashboard (`csto dashboard`): controls, ensemble, narration, saving.

Only `dashboard.app` imports Solara; the other modules are plain Python and tested without a
browser.
"""
