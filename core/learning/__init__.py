"""core/learning"""
