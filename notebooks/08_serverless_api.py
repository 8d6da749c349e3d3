# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Serverless API: placeholder
#
# ## Summary
#
# - placeholder

# %%
import labkit

lab = labkit.start("serverless_api")
