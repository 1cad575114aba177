import BackpropNN
public enum DataPlaceholder {}
